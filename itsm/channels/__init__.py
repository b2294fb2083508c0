"""Channel adapters: parsing inbound messages and rendering and sending outbound ones."""
