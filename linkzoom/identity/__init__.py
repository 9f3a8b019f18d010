"""Users, login (local directory and LDAP/Active Directory), device sessions, API auth."""
