"""The mesh benchmark: many simulated GridNode sites coordinating over a real Mosquitto broker."""
