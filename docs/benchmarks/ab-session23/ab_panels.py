"""In-process A/B of the builds' and the placed filters' panels made straight from the bases
(`_basis_layouts.forward_panels`, `tap_panels`) against `pack_panels` of `flat` / `flat_t`
(each made first): python ab_panels.py N K[,K] rounds [cl|nchw]."""

from _alternate import alternate

from lrlc.functional import _basis_rows

direct = _basis_rows.forward_panels, _basis_rows.tap_panels


def use(old: bool) -> None:
    none = lambda *a: None  # noqa: E731
    _basis_rows.forward_panels, _basis_rows.tap_panels = (none, none) if old else direct


alternate(use, "packed", "direct")
