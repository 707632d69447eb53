"""An independent BlueZ client (bleak, over dbus-fast) looks at the fake BlueZ: it scans for Latchkey locks,
connects to one, lists its GATT services and enables notifications (the lock's first packet arrives).
Prints one JSON document; the Rust test `ble::bleak` checks it. Uses DBUS_SYSTEM_BUS_ADDRESS."""

import asyncio
import json

from bleak import BleakClient, BleakScanner

SERVICE = "4c4b0001-8f2e-4d6a-b1c3-7a5e9d0f2b61"
NOTIFY = "4c4b0003-8f2e-4d6a-b1c3-7a5e9d0f2b61"


async def main() -> None:
    found = await BleakScanner.discover(timeout=3.0, return_adv=True, service_uuids=[SERVICE])
    report = {"devices": []}
    for address, (_device, adv) in sorted(found.items()):
        report["devices"].append(
            {
                "address": address,
                "name": adv.local_name,
                "rssi": adv.rssi,
                "service_uuids": adv.service_uuids,
                "manufacturer_data": {str(k): v.hex() for k, v in adv.manufacturer_data.items()},
            }
        )
    if found:
        address = sorted(found)[0]
        async with BleakClient(found[address][0], timeout=10.0) as client:
            services = []
            for service in client.services:
                services.append(
                    {
                        "uuid": service.uuid,
                        "characteristics": [
                            {
                                "uuid": c.uuid,
                                "properties": sorted(c.properties),
                                "descriptors": [d.uuid for d in c.descriptors],
                            }
                            for c in service.characteristics
                        ],
                    }
                )
            packets: asyncio.Queue = asyncio.Queue()
            await client.start_notify(NOTIFY, lambda _char, data: packets.put_nowait(bytes(data)))
            first = await asyncio.wait_for(packets.get(), 5.0)
            report["connected"] = {
                "address": address,
                "services": services,
                "first_notification_len": len(first),
            }
    print(json.dumps(report))


asyncio.run(main())
