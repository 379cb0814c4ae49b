"""JunOS semantics as data: predefined ``junos-*`` applications, port and ICMP names.

``JUNOS_APPLICATIONS`` restates the junos-defaults group's common applications as
``(protocol, destination ports, icmp type)`` tuples (``None`` = any). Applications missing
here are reported where used (the result is then incomplete), never guessed.
"""

from __future__ import annotations

AppTerm = tuple[int, tuple[int, int] | None, int | None]

JUNOS_APPLICATIONS: dict[str, tuple[AppTerm, ...]] = {
    "junos-http": ((6, (80, 80), None),),
    "junos-https": ((6, (443, 443), None),),
    "junos-http-ext": ((6, (7001, 7001), None),),
    "junos-ssh": ((6, (22, 22), None),),
    "junos-telnet": ((6, (23, 23), None),),
    "junos-ftp": ((6, (21, 21), None),),
    "junos-tftp": ((17, (69, 69), None),),
    "junos-smtp": ((6, (25, 25), None),),
    "junos-smtps": ((6, (465, 465), None),),
    "junos-pop3": ((6, (110, 110), None),),
    "junos-imap": ((6, (143, 143), None),),
    "junos-imaps": ((6, (993, 993), None),),
    "junos-dns-udp": ((17, (53, 53), None),),
    "junos-dns-tcp": ((6, (53, 53), None),),
    "junos-ntp": ((17, (123, 123), None),),
    "junos-snmp-get": ((17, (161, 161), None),),
    "junos-snmp-get-next": ((17, (161, 161), None),),
    "junos-snmp-response": ((17, (161, 161), None),),
    "junos-snmp-trap": ((17, (162, 162), None),),
    "junos-snmp-agentx": ((6, (705, 705), None),),
    "junos-syslog": ((17, (514, 514), None),),
    "junos-ldap": ((6, (389, 389), None),),
    "junos-bgp": ((6, (179, 179), None),),
    "junos-radius": ((17, (1812, 1812), None),),
    "junos-radacct": ((17, (1813, 1813), None),),
    "junos-tacacs": ((6, (49, 49), None),),
    "junos-tacacs-ds": ((6, (65, 65), None),),
    "junos-ms-sql": ((6, (1433, 1433), None),),
    "junos-sqlnet-v2": ((6, (1521, 1521), None),),
    "junos-smb-session": ((6, (445, 445), None),),
    "junos-netbios-session": ((6, (139, 139), None),),
    "junos-nbname": ((17, (137, 137), None),),
    "junos-nbds": ((17, (138, 138), None),),
    "junos-ms-rpc-tcp": ((6, (135, 135), None),),
    "junos-ms-rpc-udp": ((17, (135, 135), None),),
    "junos-rdp": ((6, (3389, 3389), None),),
    "junos-vnc": ((6, (5800, 5800), None),),
    "junos-x-windows": ((6, (6000, 6063), None),),
    "junos-rsh": ((6, (514, 514), None),),
    "junos-cvspserver": ((6, (2401, 2401), None),),
    "junos-whois": ((6, (43, 43), None),),
    "junos-who": ((17, (513, 513), None),),
    "junos-ike": ((17, (500, 500), None),),
    "junos-ike-nat": ((17, (4500, 4500), None),),
    "junos-pptp": ((6, (1723, 1723), None),),
    "junos-l2tp": ((17, (1701, 1701), None),),
    "junos-sip": ((17, (5060, 5060), None), (6, (5060, 5060), None)),
    "junos-dhcp-client": ((17, (68, 68), None),),
    "junos-dhcp-server": ((17, (67, 67), None),),
    "junos-bootpc": ((17, (68, 68), None),),
    "junos-bootps": ((17, (67, 67), None),),
    "junos-icmp-all": ((1, None, None),),
    "junos-icmp-ping": ((1, None, 8),),
    "junos-ping": ((1, None, 8),),
    "junos-pingv6": ((58, None, 128),),
    "junos-icmp6-all": ((58, None, None),),
    "junos-gre": ((47, None, None),),
    "junos-ospf": ((89, None, None),),
    "junos-modbus": ((6, (502, 502), None),),
    "junos-dnp3": ((6, (20000, 20000), None),),
}

PORT_NAMES: dict[str, int] = {
    "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "tacacs": 49,
    "domain": 53, "dhcp": 67, "bootps": 67, "bootpc": 68, "tftp": 69, "http": 80,
    "kerberos-sec": 88, "pop3": 110, "sunrpc": 111, "ident": 113, "nntp": 119, "ntp": 123,
    "netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139, "imap": 143, "snmp": 161,
    "snmptrap": 162, "xdmcp": 177, "bgp": 179, "ldap": 389, "https": 443, "biff": 512,
    "exec": 512, "login": 513, "who": 513, "cmd": 514, "syslog": 514, "printer": 515,
    "talk": 517, "ntalk": 518, "rip": 520, "timed": 525, "klogin": 543, "kshell": 544,
    "ldp": 646, "krb-prop": 754, "krbupdate": 760, "kpasswd": 761, "socks": 1080,
    "afs": 1483, "pptp": 1723, "radius": 1812, "radacct": 1813, "nfsd": 2049, "eklogin": 2105,
    "zephyr-srv": 2102, "zephyr-clt": 2103, "zephyr-hm": 2104, "mobileip-agent": 434,
    "mobilip-mn": 435, "msdp": 639, "snpp": 444, "bfd": 3784, "ike": 500,
}

ICMP4: dict[str, int] = {
    "echo-reply": 0, "unreachable": 3, "source-quench": 4, "redirect": 5, "echo-request": 8,
    "router-advertisement": 9, "router-solicit": 10, "time-exceeded": 11,
    "parameter-problem": 12, "timestamp": 13, "timestamp-reply": 14, "info-request": 15,
    "info-reply": 16, "mask-request": 17, "mask-reply": 18,
}
ICMP6: dict[str, int] = {
    "destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3,
    "parameter-problem": 4, "echo-request": 128, "echo-reply": 129, "membership-query": 130,
    "membership-report": 131, "membership-termination": 132, "router-solicit": 133,
    "router-advertisement": 134, "neighbor-solicit": 135, "neighbor-advertisement": 136,
    "redirect": 137, "router-renumbering": 138, "node-information-request": 139,
    "node-information-reply": 140,
}
