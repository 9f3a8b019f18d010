"""The Outlook add-in: its manifests, command code, sign-in and consent dialogs, and /addin/try."""
