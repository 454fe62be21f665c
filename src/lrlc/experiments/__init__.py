"""The experiment harness: everything between a layer and a table of the paper.

    config.py      TrainConfig (a run's identity and protocol) and the protocol presets
    machine.py     auto speed settings from the hardware: precision, channels_last, threads
    files.py       atomic writes, weights-only checkpoint loading, one-line file errors
    records.py     what run and sweep folders hold, and reading them back
    provenance.py  git commit and machine facts recorded with every run
    progress.py    what runs and sweeps print while they work
    run/           one training run (trainer.py), its device, memory settings, conversion
    sweep/         grids of runs, executors (local, worker processes, Ray), the runner
    report/        results data model, statistics, tables, claims, flags, linked sweeps,
                   figures, the writer
    reproduce/     named reproductions (presets, the converged one), their runner, and a
                   budget estimate from measured run times
    cli/           the `lrlc` command line

Imports go one way: the harness uses the library (layers, functional, models, data) and the
library never imports the harness; inside, run <- sweep <- reproduce and records <- report.
"""
