from telemetry_gate.cli.app import main

main()
