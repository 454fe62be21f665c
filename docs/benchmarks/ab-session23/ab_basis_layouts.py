"""In-process A/B of the bases' re-layouts (`_basis_layouts`) against session 22's permuted
copies: python ab_basis_layouts.py N K[,K] rounds [cl|nchw]. Each round times conv and each
rank's step (best of 3) with the old and the new forms, switched by patching."""

import functools

from _alternate import alternate

from lrlc.functional import _basis_dw, _basis_rows

new_grad, new_dense = _basis_rows.BasisKernels.bases_grad, _basis_dw.DwProducts.dense


def old_grad(self, shape):
    k, c_out, c_in, kh, kw = shape
    if self._d_panels is None:
        d = self.d_flat.view(k, kh, -1)
    else:
        d = self._d_panels.permute(2, 0, 1, 3).reshape(k, kh, -1)[:, :, : c_out * kw * c_in]
    return d.unflatten(2, (c_out, kw, c_in)).permute(0, 2, 4, 1, 3)


@functools.cached_property
def old_dense(self):
    m = _basis_dw.column_multiple() or 1
    padded = -(-self.k // m) * m
    src = self.bases.permute(3, 1, 4, 2, 0).reshape(self.kh, -1, self.k)
    dense = src.new_zeros((*src.shape[:2], padded), dtype=self.acc)
    dense[..., : self.k] = src
    return dense, dense.new_empty((self.w_out, padded))


old_dense.__set_name__(_basis_dw.DwProducts, "dense")


def use(old: bool) -> None:
    _basis_rows.BasisKernels.bases_grad = old_grad if old else new_grad
    _basis_dw.DwProducts.dense = old_dense if old else new_dense


alternate(use, "old", "new")
