"""The residents' side of the event center (issue 19): SMS sign-in codes sent through the
outbox, the classes a resident may report in, nearby open reports and 我也遇到."""
