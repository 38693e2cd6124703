"""`qingzhi ingest`: device messages from MQTT into PostgreSQL, nothing lost, nothing twice.

service.py runs it: source.py (paho, persistent QoS 1 session) → inbox.py (bounded hand-over,
back-pressure) → writer.py (batches; pipeline.py's stages decode → validate → enrich → rows;
one transaction in store.py, which holds all the SQL; ack after commit) and housekeeping.py
(partitions, retention, lost units, stats). status.py and rejects.py are the operator commands.
"""
