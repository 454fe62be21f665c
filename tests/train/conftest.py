import pytest
import torch


@pytest.fixture
def one_thread():
    """One torch thread for runs that read a streamed folder through DataLoader workers: on a
    2-core machine, two OpenMP threads beside a decoding worker oversubscribe the cores, and
    OpenMP's spinning threads then make every step many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
