"""The daemon's verbs: containers, images, events, system information."""
