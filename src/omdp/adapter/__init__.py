"""The SmartMeterAdapter (AD-1..AD-6): reads a meter, maps its values, publishes MeterReadings."""
