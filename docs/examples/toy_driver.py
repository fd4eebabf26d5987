#!/usr/bin/env python3
"""A deliberately partial toy system behind the phone-jpki driver protocol (docs/DRIVER.md).

It knows phones only: the network, the JPKI app and the applet. Every other action it answers
"not_offered" (it does not implement them), so `phone-jpki conform --driver` reports where it
leaves the model. Run:

    phone-jpki conform --world single --random 5 --driver 'python3 docs/examples/toy_driver.py'
"""
import json
import sys


class Toy:
    def __init__(self, config):
        n = config["phones"]
        self.online = [True] * n
        self.app = [False] * n
        self.installs = [0] * n
        self.applet = [False] * n

    def step(self, a):
        name, h = a["action"], a.get("phone")
        if name == "GoOffline":
            self.online[h] = False
        elif name == "GoOnline":
            self.online[h] = True
        elif name == "InstallApp":
            if not self.online[h]:
                return {"refused": "PhoneOffline"}
            self.app[h] = True
            self.installs[h] += 1
        elif name == "UninstallApp":
            self.app[h] = False
        elif name == "InstallApplet":
            if not self.online[h]:
                return {"refused": "PhoneOffline"}
            self.applet[h] = True
        else:
            return None
        return "accepted"

    def facts(self):
        phones = []
        for h in range(len(self.online)):
            f = {"phone": h, "online": self.online[h], "app": self.app[h], "applet": self.applet[h]}
            if self.app[h]:
                f["token"] = self.installs[h]
            phones.append(f)
        return {"phones": phones}


def main():
    toy = None
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "reset":
            toy = Toy(req["config"])
            answer = {"ok": True, "driver": "toy-phones 0.1 (Python)", "snapshots": False}
        elif cmd == "step":
            outcome = toy.step(req["action"])
            if outcome is None:
                answer = {"outcome": "not_offered",
                          "note": "toy system: %s is not implemented" % req["action"]["action"]}
            else:
                answer = {"outcome": outcome, "facts": toy.facts()}
        elif cmd == "bye":
            print(json.dumps({"ok": True}), flush=True)
            return
        else:
            answer = {"error": "unsupported request %r" % cmd}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
