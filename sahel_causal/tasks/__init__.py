"""Tasks: the edge of the package that reads inputs, calls pure functions and writes outputs.

:mod:`sahel_causal.tasks.graph` runs a list of :class:`~sahel_causal.tasks.graph.Task` in
dependency order (independent ones in parallel); :mod:`sahel_causal.tasks.published` lists the
tasks of ``sahel-causal reproduce``. A topic module ``sahel_causal/tasks/<name>.py`` with
``make(panel, results_dir, progress) -> list[Path]`` joins ``reproduce`` with one line in
``published.TASKS``: ``Task.from_make("<name>", "sahel_causal.tasks.<name>:make", ...)``.
"""
