"""The supervisor's contracts: data types and Protocols, implemented in-process by plugins/
and across the process boundary by proxy/. Daemon code is written against these only."""
