"""The administrator's Overview: what happened today and over the last two weeks."""
