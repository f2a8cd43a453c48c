"""Rule segments, priorities and activation (webhooks, exports), with consent enforced.

Modules, from what a user writes to what leaves the building:

- :mod:`.settings`, :mod:`.yamlmarks`, :mod:`.parse`, :mod:`.load`: the ``activation``
  section of ``audience.yaml`` and ``segments/*.yaml``, validated with file and line;
- :mod:`.fields`: the fields a rule may test;
- :mod:`.compile_sql`, :mod:`.evaluate`, :mod:`.relation`: batch evaluation in the warehouse,
  with membership history; :mod:`.compile_python`, :mod:`.codegen`, :mod:`.live`: the same
  rules on one live profile;
- :mod:`.history`, :mod:`.why`: members at a date, overlaps, explanations;
- :mod:`.activate`, :mod:`.deliveries`, :mod:`.payloads`, :mod:`.destinations`: webhooks and
  file exports.

Nothing is imported here, so that :mod:`audience.config` can import :mod:`.settings` alone.
"""
