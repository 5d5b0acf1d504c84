"""Device drivers for GridNode: plain Python, no Home Assistant import."""
