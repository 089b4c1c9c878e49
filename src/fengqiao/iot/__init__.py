"""IoT alarms: the device registry, alarms by MQTT and HTTP, rules that map readings to classes,
folding repeats into one open event, recovery, and the quarantine of refused messages."""
