from telemetry_gate.cli.console import main

main()
