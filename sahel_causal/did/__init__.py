"""Difference-in-differences and event-study estimators for staggered and switching treatments.

Modules (estimation apart from aggregation and reporting):

* :mod:`.twfe` -- two-way fixed-effects baselines, Goodman-Bacon decomposition and the
  de Chaisemartin-D'Haultfoeuille weights;
* :mod:`.sun_abraham` -- interaction-weighted event study (Sun & Abraham 2021);
* :mod:`.imputation` -- imputation / two-stage DiD (Borusyak, Jaravel & Spiess 2024; Gardner 2022);
* :mod:`.dcdh` -- DID_l for non-absorbing treatments (de Chaisemartin & D'Haultfoeuille 2024);
* :mod:`.continuous` -- continuous, time-varying doses with stayers (de Chaisemartin et al. 2022);
* :mod:`.stacked` -- stacked event study with clean controls (Cengiz et al. 2019).
"""
