// PacketBuilder
