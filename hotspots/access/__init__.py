"""Who may do what: accounts and roles, login throttling, the audit log, untrusted text made safe."""
