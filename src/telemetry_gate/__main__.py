from telemetry_gate.cli import main

main()
