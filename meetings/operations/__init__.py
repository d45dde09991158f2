"""Operations: backups, identifier retention and the audit trail."""
