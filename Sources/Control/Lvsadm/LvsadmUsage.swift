/// `lvsadm -h` and `-v`: ipvsadm 1.31's usage, restricted to what SwiftLVS implements and
/// extended by DPVS's FullNAT words and lvsadm's `--socket`.
enum LvsadmUsage {
    static let version = "lvsadm v1.31 (SwiftLVS; ipvsadm 1.31 command line, IPVS v1.2.1)"

    static func text(program p: String) -> String {
        """
        \(version)
        Usage:
          \(p) -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [-b sched-flags]
          \(p) -D virtual-service
          \(p) -C
          \(p) -R
          \(p) -S [-n]
          \(p) -a|e virtual-service -r server-address [options]
          \(p) -d virtual-service -r server-address
          \(p) -L|l [virtual-service] [options]
          \(p) -Z [virtual-service]
          \(p) --set tcp tcpfin udp
          \(p) --add-laddr|--del-laddr -z local-address virtual-service
          \(p) --get-laddr [virtual-service]
          \(p) -h

        Commands (long or short):
          --add-service     -A        add a virtual service
          --edit-service    -E        change a virtual service's scheduler and persistence
          --delete-service  -D        delete a virtual service
          --clear           -C        delete every virtual service
          --restore         -R        apply commands read from standard input, all or none
          --save            -S        print the table as commands -R reads back
          --add-server      -a        add a real server
          --edit-server     -e        change a real server
          --delete-server   -d        delete a real server
          --list            -L|-l     list the table
          --zero            -Z        zero the counters of one service or all
          --set tcp tcpfin udp        set the TCP, TCP FIN_WAIT and UDP timeouts (0 keeps one)
          --add-laddr       -P        add a FullNAT local address (DPVS)
          --del-laddr       -Q        delete a FullNAT local address (DPVS)
          --get-laddr       -G        list FullNAT local addresses (DPVS)
          --help            -h        print this text

        virtual-service:
          --tcp-service|-t  service-address   host[:port], IPv6 as [address]:port
          --udp-service|-u  service-address   host[:port], IPv6 as [address]:port

        Options:
          --scheduler    -s scheduler         rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos;
                                              wlc unless given
          --persistent   -p [timeout]         persistent service (360 seconds unless given)
          --netmask      -M netmask           persistence granularity (IPv6: a prefix length)
          --sched-flags  -b flags             scheduler flags, comma-separated (on -A and -E)
          --real-server  -r server-address    host[:port] of a real server
          --gatewaying   -g                   direct routing (the default)
          --ipip         -i                   IPIP tunnelling
          --masquerading -m                   NAT
          --fullnat      -b                   FullNAT (DPVS; on -a and -e)
          --tun-type     ipip|gue|gre         the tunnel type (ipip unless given)
          --tun-port     port                 GUE's UDP port on the real server
          --tun-nocsum                        GUE/GRE without checksum (the default)
          --tun-csum                          GUE/GRE with checksum
          --weight       -w weight            the real server's weight (1 unless given)
          --u-threshold  -x uthreshold        upper connection threshold
          --l-threshold  -y lthreshold        lower connection threshold
          --laddr        -z local-address     FullNAT local address
          --connection   -c                   list the connections
          --timeout                           list the timeouts (tcp tcpfin udp)
          --stats                             list the traffic counters
          --rate                              list the traffic rates
          --exact                             print numbers unscaled
          --thresholds                        list the thresholds
          --persistent-conn                   list the persistent connections
          --tun-info                          list the tunnel types
          --nosort                            keep the table's order
          --sort                              does nothing (compatibility)
          --numeric      -n                   print ports as numbers (addresses always are)
          --socket       path                 lvsd's control socket (default \(Lvsadm.defaultSocketPath),
                                              or $\(Lvsadm.socketEnvironmentVariable))

        """
    }
}
