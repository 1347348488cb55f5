"""Reviewer mode: how a rerun differs from the published results, and where each output came from.

* :mod:`.diff` - cell-by-cell comparison of a rerun's long table (CSV) with the published one;
* :mod:`.check` - compare two result folders file by file (``reproduce --check``);
* :mod:`.provenance` - the provenance record of an output (commit, versions, lock hash, spec, seeds);
* :mod:`.country_sets` - named country sets (regions, program partner groups) for ``list`` and specs.
"""
