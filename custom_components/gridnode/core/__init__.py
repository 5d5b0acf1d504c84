"""GridNode's domain core: time slots, tariffs, forecasts, load forecasting and islanding.

Nothing in this package imports Home Assistant; the integration adapts it.
"""
