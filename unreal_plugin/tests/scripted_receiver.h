// Shared by vector_tests and fuzz_tests: the plugin's receive loop (medtalk::Receiver) fed with
// scripted datagrams instead of a network (a medtalk::UdpSocket, as the plugin's FSocket wrapper
// and receiver.cpp's BSD socket are), and a listener that records what the loop hands over.

#pragma once

#include "MEDTalkReceiver.h"
#include "test_util.h"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace medtalk_test
{
// Datagrams a test queues for the receive loop.
struct ScriptedUdp
{
    std::deque<Bytes> datagrams;
    std::size_t oversized = 0;  // datagrams to report as longer than the receive buffer
};

// A bound UDP socket whose datagrams come from a ScriptedUdp: the oversized ones first, then the
// queue; Wait never blocks.
class ScriptedUdpSocket final : public medtalk::UdpSocket
{
public:
    explicit ScriptedUdpSocket(ScriptedUdp& script) : script_(script) {}

    bool Wait(double /*timeout_s*/) override
    {
        return !script_.datagrams.empty() || script_.oversized > 0;
    }

    std::int64_t Receive(std::uint8_t* buffer, std::size_t capacity) override
    {
        if (script_.oversized > 0)
        {
            --script_.oversized;
            return static_cast<std::int64_t>(capacity) + 1;
        }
        if (script_.datagrams.empty())
        {
            return -1;
        }
        const Bytes datagram = std::move(script_.datagrams.front());
        script_.datagrams.pop_front();
        std::copy_n(datagram.begin(), std::min(datagram.size(), capacity), buffer);
        return static_cast<std::int64_t>(datagram.size());
    }

private:
    ScriptedUdp& script_;
};

// Everything the receive loop hands over.
struct Heard final : medtalk::ReceiverListener
{
    std::vector<std::vector<std::string>> names;
    std::vector<std::int32_t> frames;
    std::vector<double> arrivals;
    std::vector<medtalk::ReceiverEvent> events;
    std::vector<std::string> texts;

    void OnNames(const std::vector<std::string>& n) override { names.push_back(n); }

    void OnFrame(const medtalk::Frame& frame, double arrival_s) override
    {
        frames.push_back(frame.index);
        arrivals.push_back(arrival_s);
    }

    void OnStatus(medtalk::ReceiverEvent event, const std::string& text) override
    {
        events.push_back(event);
        texts.push_back(text);
    }

    std::size_t Count(medtalk::ReceiverEvent event) const
    {
        return static_cast<std::size_t>(std::count(events.begin(), events.end(), event));
    }
};
}  // namespace medtalk_test
