"""Email: settings (`config`), addresses (`address`), messages (`message`), SMTP (`smtp`).

The outbox that queues and sends is `panel/outbox.py`."""
