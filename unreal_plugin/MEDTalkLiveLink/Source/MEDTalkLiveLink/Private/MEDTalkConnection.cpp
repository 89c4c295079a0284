// Live Link connection strings of the MEDTalk Live receiver (see MEDTalkConnection.h).

#include "MEDTalkConnection.h"

#include "MEDTalkPacket.h"

#include <cstdlib>

namespace medtalk
{
// Helpers live in a named namespace (not an anonymous one) so that Unreal's unity builds, which
// paste several .cpp files together, cannot collide with them.
namespace connection_detail
{
std::string Trim(const std::string& text)
{
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos)
    {
        return std::string();
    }
    const std::size_t last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

bool IsDottedIpv4(const std::string& text)
{
    int parts = 0;
    std::size_t i = 0;
    while (i <= text.size())
    {
        std::size_t digits = 0;
        int value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 4)
        {
            value = value * 10 + (text[i] - '0');
            ++digits;
            ++i;
        }
        if (digits == 0 || digits > 3 || value > 255)
        {
            return false;
        }
        ++parts;
        if (i == text.size())
        {
            break;
        }
        if (text[i] != '.')
        {
            return false;
        }
        ++i;
    }
    return parts == 4;
}
}  // namespace connection_detail

using namespace connection_detail;

bool ParseConnectionString(const std::string& text, ReceiverConfig& out, std::string& error)
{
    ReceiverConfig config;
    std::size_t start = 0;
    while (start <= text.size())
    {
        std::size_t end = text.find(';', start);
        if (end == std::string::npos)
        {
            end = text.size();
        }
        const std::string item = Trim(text.substr(start, end - start));
        start = end + 1;
        if (item.empty())
        {
            continue;
        }
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos)
        {
            error = "'" + item + "' is not KEY=VALUE";
            return false;
        }
        const std::string key = Trim(item.substr(0, eq));
        const std::string value = Trim(item.substr(eq + 1));
        if (key == "transport")
        {
            if (value != "osc" && value != "zmq")
            {
                error = "transport '" + value + "' is not osc or zmq";
                return false;
            }
            config.transport = value == "osc" ? ReceiverConfig::Transport::Osc
                                              : ReceiverConfig::Transport::Zmq;
        }
        else if (key == "bind")
        {
            if (!IsDottedIpv4(value))
            {
                error = "bind address '" + value + "' is not a dotted IPv4 address";
                return false;
            }
            config.bind = value;
        }
        else if (key == "port")
        {
            long port = 0;
            bool digits = !value.empty() && value.size() <= 5;
            for (const char c : value)
            {
                digits = digits && c >= '0' && c <= '9';
            }
            if (digits)
            {
                port = std::strtol(value.c_str(), nullptr, 10);
            }
            if (!digits || port < 1 || port > 65535)
            {
                error = "port '" + value + "' is not an integer in 1-65535";
                return false;
            }
            config.port = static_cast<int>(port);
        }
        else if (key == "endpoint")
        {
            if ((value.rfind("tcp://", 0) != 0 && value.rfind("ipc://", 0) != 0) || value.size() < 7)
            {
                error = "endpoint '" + value + "' is not tcp://HOST:PORT or ipc://PATH";
                return false;
            }
            config.endpoint = value;
        }
        else if (key == "subject")
        {
            if (!IsPrintableText(value, kSubjectMax))
            {
                error = "subject '" + value + "' is not 1 to 63 printable ASCII characters";
                return false;
            }
            config.subject = value;
        }
        else
        {
            error = "unknown key '" + key + "'";
            return false;
        }
    }
    out = config;
    return true;
}

std::string ToConnectionString(const ReceiverConfig& config)
{
    if (config.transport == ReceiverConfig::Transport::Zmq)
    {
        return "transport=zmq;endpoint=" + config.endpoint + ";subject=" + config.subject;
    }
    return "transport=osc;bind=" + config.bind + ";port=" + std::to_string(config.port)
        + ";subject=" + config.subject;
}

std::string ReceiverAddress(const ReceiverConfig& config)
{
    if (config.transport == ReceiverConfig::Transport::Zmq)
    {
        return config.endpoint;
    }
    return "udp://" + config.bind + ":" + std::to_string(config.port);
}

}  // namespace medtalk
