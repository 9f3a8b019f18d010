"""Mailbox sources: linkzoom reads the calendars themselves, so a change made in any client
reaches Zoom (see :mod:`.watcher`). Each source implements :class:`.base.MailboxReader`."""
