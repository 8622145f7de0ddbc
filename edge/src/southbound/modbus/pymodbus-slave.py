"""An independent Modbus slave for interop tests (pymodbus, Debian python3-pymodbus 3.0).

usage: pymodbus-slave.py tcp PORT | rtu DEVICE
Unit 1 holds a power meter's input registers (catalog map) with fixed values:
voltage 230.5 V, current 10.25 A (float32, big word order), power 12.345 kW (int32, x0.001),
energy 1000 kWh (uint32, x0.01), frequency 50.00 Hz (uint16, x0.01), power factor 0.95 (int16, x0.001),
relay coil 0 closed.
"""
import asyncio
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusRtuFramer


def words_f32(v):
    return list(struct.unpack(">HH", struct.pack(">f", v)))


def words_u32(v):
    return [(v >> 16) & 0xFFFF, v & 0xFFFF]


inputs = words_f32(230.5) + words_f32(10.25) + words_u32(12345) + words_u32(100000) + [5000, 950]
store = ModbusSlaveContext(
    di=ModbusSequentialDataBlock(0, [0] * 8),
    co=ModbusSequentialDataBlock(0, [1, 0] + [0] * 6),
    hr=ModbusSequentialDataBlock(0, [0] * 16),
    ir=ModbusSequentialDataBlock(0, inputs + [0] * 6),
    zero_mode=True,
)
context = ModbusServerContext(slaves={1: store}, single=False)


async def main():
    mode, where = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    if mode == "tcp":
        await StartAsyncTcpServer(context, address=("127.0.0.1", int(where)))
    else:
        await StartAsyncSerialServer(context, framer=ModbusRtuFramer, port=where, baudrate=19200)


asyncio.run(main())
