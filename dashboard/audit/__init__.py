"""The audit page: admins search the append-only audit log and export it (the export is audited too)."""
