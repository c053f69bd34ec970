"""MQTT for omdp: one asyncio client over paho-mqtt, with manual acknowledgements."""

from omdp.mqtt.client import Message, MqttClient

__all__ = ["Message", "MqttClient"]
