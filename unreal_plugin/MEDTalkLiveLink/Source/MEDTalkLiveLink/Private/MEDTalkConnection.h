// Where a MEDTalk Live receiver listens, as a Live Link connection string (docs/unreal.md).
//
// Plain C++17 with no engine types, like the rest of the receiver code (see MEDTalkPacket.h).

#pragma once

#include <string>

namespace medtalk
{
// Where a receiver listens; parsed from and written to a Live Link connection string such as
// "transport=osc;bind=127.0.0.1;port=9100;subject=MEDTalk" or
// "transport=zmq;endpoint=tcp://127.0.0.1:5570;subject=MEDTalk".
struct ReceiverConfig
{
    enum class Transport
    {
        Osc,
        Zmq
    };
    Transport transport = Transport::Osc;
    std::string bind = "127.0.0.1";                   // IPv4 address the UDP socket binds
    int port = 9100;                                  // UDP port, 1-65535
    std::string endpoint = "tcp://127.0.0.1:5570";    // ZeroMQ endpoint the SUB socket connects
    std::string subject = "MEDTalk";                  // Live Link subject; frames for others are ignored
};

// Parses a connection string (keys in any order, missing keys keep their defaults). Returns false
// and sets `error` to a one-line reason for an unknown key, a bad port, a bind address that is not
// a dotted IPv4 address, a bad subject or an endpoint that is not tcp:// or ipc://.
bool ParseConnectionString(const std::string& text, ReceiverConfig& out, std::string& error);

// The connection string of `config`, which ParseConnectionString reads back: for OSC transport,
// bind, port and subject; for ZeroMQ transport, endpoint and subject.
std::string ToConnectionString(const ReceiverConfig& config);

// What a receiver of `config` listens on, for logs and the Live Link panel: "udp://BIND:PORT" for
// OSC, the endpoint for ZeroMQ.
std::string ReceiverAddress(const ReceiverConfig& config);

}  // namespace medtalk
