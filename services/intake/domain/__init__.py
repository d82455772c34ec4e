"""Pure domain logic of the intake service (the front door).

No I/O lives here: the runtime (database, Kafka, HTTP) calls these functions
and models. Modules, one concern each:

- ``errors``        ``DomainValidationError(field, message)``
- ``text``          string hygiene types (strip, bound, no control characters)
- ``identity``      phone/email normalisation and identity resolution
- ``contacts``      ``ContactIn``: a contact from any channel (showroom traffic log)
- ``customers``     the customer information card, its change history, merges
- ``consent``       marketing consent, last writer by ``occurred_at``
- ``complaints``    ``ComplaintIn``: a complaint filed from any channel
- ``cards_import``  streaming import of business cards (CSV / XLSX)
- ``sample_cards``  generator of realistic business-card files for tests/benchmarks
- ``callcenter``    the raw ``callcenter-contacts`` message and its mapping
"""
