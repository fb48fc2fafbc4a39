// Command udpecho is a static UDP probe for the root tests (busybox here
// has no UDP server): it answers each datagram on the port given with
// "echo " and the datagram, and prints what it got.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

func main() {
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: udpecho PORT")
		os.Exit(2)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{Port: port})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 512)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s", buf[:n])
		_, _ = c.WriteToUDP(append([]byte("echo "), buf[:n]...), from)
	}
}
