"""The outbox: every outbound message as a row written in the transaction of the change that
causes it (sent later by notify)."""
