// CPcap: libpcap for Swift. Include only; nothing here is ours.
#ifndef SWIFTLVS_CPCAP_SHIM_H
#define SWIFTLVS_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
