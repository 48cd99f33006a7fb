"""Fleet triage (``debugkit runs``): many runs at once, grouped by what broke.

- :mod:`.listing` pages through ``GET /v1/runs`` (newest first, until ``--since``/``--limit``);
- :mod:`.discover` finds the runs under a folder for the offline mode;
- :mod:`.batch` triages each run through the same cache and pipeline as ``triage RUN_ID``, several
  at once, and turns each into a :class:`~debugkit.fleet.batch.FleetRow`;
- :mod:`.signature` names what a run's failure looks like (a request template, an element, an
  exception) so that runs with the same problem share it;
- :mod:`.clusters` groups the rows by cause and signature;
- :mod:`.report` writes the ``debugkit.fleet/1`` document, the JSONL rows and the terminal table;
  :mod:`.html` the self-contained overview page.
"""
