// The MEDTalk Live Link source (see MEDTalkLiveLinkSource.h). The receive loop (sockets, packet
// decoding, stream bookkeeping) is engine-free (MEDTalkReceiver.{h,cpp} and the files it uses,
// tested by unreal_plugin/tests/run.sh); this file gives it Unreal's UDP sockets and a thread, and
// turns what it hands over into Live Link data.

#include "MEDTalkLiveLinkSource.h"

#include "Common/UdpSocketBuilder.h"
#include "HAL/PlatformTime.h"
#include "HAL/RunnableThread.h"
#include "ILiveLinkClient.h"
#include "Interfaces/IPv4/IPv4Address.h"
#include "MEDTalkLiveLinkSourceSettings.h"
#include "Misc/FrameRate.h"
#include "Misc/QualifiedFrameTime.h"
#include "Roles/LiveLinkBasicRole.h"
#include "Sockets.h"
#include "SocketSubsystem.h"

#include <memory>

#define LOCTEXT_NAMESPACE "MEDTalkLiveLink"

DEFINE_LOG_CATEGORY(LogMEDTalkLiveLink);

namespace MEDTalkLiveLinkSource
{
// medtalk::UdpSocket over the engine's FSocket (non-blocking, bound by FUdpSocketBuilder).
class FMEDTalkUdpSocket final : public medtalk::UdpSocket
{
public:
	explicit FMEDTalkUdpSocket(FSocket* InSocket) : Socket(InSocket) {}

	virtual ~FMEDTalkUdpSocket() override
	{
		Socket->Close();
		ISocketSubsystem::Get(PLATFORM_SOCKETSUBSYSTEM)->DestroySocket(Socket);
	}

	virtual bool Wait(double TimeoutSeconds) override
	{
		return Socket->Wait(ESocketWaitConditions::WaitForRead, FTimespan::FromSeconds(TimeoutSeconds));
	}

	virtual std::int64_t Receive(std::uint8_t* Buffer, std::size_t Capacity) override
	{
		uint32 Pending = 0;
		int32 Read = 0;
		if (!Socket->HasPendingData(Pending) || !Socket->Recv(Buffer, static_cast<int32>(Capacity), Read) || Read < 0)
		{
			return -1;
		}
		return Read;
	}

private:
	FSocket* Socket;
};

std::unique_ptr<medtalk::UdpSocket> OpenUdp(const medtalk::ReceiverConfig& Config, std::string& Error)
{
	FIPv4Address Address;
	if (!FIPv4Address::Parse(FString(UTF8_TO_TCHAR(Config.bind.c_str())), Address))
	{
		Error = "bad bind address";
		return nullptr;
	}
	FSocket* Socket = FUdpSocketBuilder(TEXT("MEDTalkLiveLink"))
		.AsNonBlocking()
		.BoundToAddress(Address)
		.BoundToPort(static_cast<uint16>(Config.port))
		.WithReceiveBufferSize(medtalk::kUdpReceiveBufferBytes)
		.Build();
	if (Socket == nullptr)
	{
		Error = "cannot bind " + medtalk::ReceiverAddress(Config) + " (in use?)";
		return nullptr;
	}
	return std::make_unique<FMEDTalkUdpSocket>(Socket);
}
}

FMEDTalkLiveLinkSource::FMEDTalkLiveLinkSource(const medtalk::ReceiverConfig& InConfig)
	: Config(InConfig)
	, Receiver(Config, *this, &MEDTalkLiveLinkSource::OpenUdp, [] { return FPlatformTime::Seconds(); })
{
	StatusText = TEXT("Starting");
}

FMEDTalkLiveLinkSource::~FMEDTalkLiveLinkSource()
{
	RequestSourceShutdown();
}

void FMEDTalkLiveLinkSource::ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid)
{
	Client = InClient;
	SubjectKey = FLiveLinkSubjectKey(InSourceGuid, FName(UTF8_TO_TCHAR(Config.subject.c_str())));
	Thread = FRunnableThread::Create(this, TEXT("MEDTalkLiveLinkReceiver"), 0, TPri_AboveNormal);
}

void FMEDTalkLiveLinkSource::InitializeSettings(ULiveLinkSourceSettings* Settings)
{
	if (const UMEDTalkLiveLinkSourceSettings* Ours = Cast<UMEDTalkLiveLinkSourceSettings>(Settings))
	{
		Receiver.SetStaleAfterSeconds(Ours->StaleAfterSeconds);
	}
}

void FMEDTalkLiveLinkSource::OnSettingsChanged(ULiveLinkSourceSettings* Settings, const FPropertyChangedEvent& PropertyChangedEvent)
{
	InitializeSettings(Settings);
}

TSubclassOf<ULiveLinkSourceSettings> FMEDTalkLiveLinkSource::GetSettingsClass() const
{
	return UMEDTalkLiveLinkSourceSettings::StaticClass();
}

bool FMEDTalkLiveLinkSource::IsSourceStillValid() const
{
	return bValid && !bStopping;
}

bool FMEDTalkLiveLinkSource::RequestSourceShutdown()
{
	Stop();
	if (Thread != nullptr)
	{
		Thread->WaitForCompletion();  // Poll returns within about 2 * medtalk::kPollSeconds
		delete Thread;
		Thread = nullptr;
	}
	return true;
}

void FMEDTalkLiveLinkSource::Stop()
{
	bStopping = true;
}

FText FMEDTalkLiveLinkSource::GetSourceType() const
{
	return Config.transport == medtalk::ReceiverConfig::Transport::Zmq
		? LOCTEXT("TypeZmq", "MEDTalk Live (ZeroMQ)")
		: LOCTEXT("TypeOsc", "MEDTalk Live (OSC)");
}

FText FMEDTalkLiveLinkSource::GetSourceMachineName() const
{
	return FText::FromString(FString(UTF8_TO_TCHAR(medtalk::ReceiverAddress(Config).c_str())));
}

FText FMEDTalkLiveLinkSource::GetSourceStatus() const
{
	FScopeLock Lock(&StatusLock);
	return FText::FromString(StatusText);
}

uint32 FMEDTalkLiveLinkSource::Run()
{
	while (!bStopping)
	{
		Receiver.Poll();
		UpdateStatus();
	}
	Receiver.Close();
	return 0;
}

void FMEDTalkLiveLinkSource::OnStatus(medtalk::ReceiverEvent Event, const std::string& Text)
{
	const FString Line(UTF8_TO_TCHAR(Text.c_str()));
	switch (Event)
	{
	case medtalk::ReceiverEvent::Listening:
		bValid = true;
		UE_LOG(LogMEDTalkLiveLink, Log, TEXT("%s"), *Line);
		break;
	case medtalk::ReceiverEvent::TransportError:
		bValid = false;
		UE_LOG(LogMEDTalkLiveLink, Warning, TEXT("%s (retrying)"), *Line);
		break;
	case medtalk::ReceiverEvent::Rejected:
		UE_LOG(LogMEDTalkLiveLink, Warning, TEXT("%s"), *Line);
		break;
	case medtalk::ReceiverEvent::Stale:
		Client->ClearSubjectsFrames_AnyThread(SubjectKey);
		UE_LOG(LogMEDTalkLiveLink, Log, TEXT("%s, frames cleared"), *Line);
		break;
	case medtalk::ReceiverEvent::NamesChanged:
	case medtalk::ReceiverEvent::StreamStarted:
		UE_LOG(LogMEDTalkLiveLink, Log, TEXT("%s"), *Line);
		break;
	}
}

void FMEDTalkLiveLinkSource::OnNames(const std::vector<std::string>& Names)
{
	FLiveLinkStaticDataStruct StaticData(FLiveLinkBaseStaticData::StaticStruct());
	FLiveLinkBaseStaticData& Base = *StaticData.Cast<FLiveLinkBaseStaticData>();
	Base.PropertyNames.Reserve(static_cast<int32>(Names.size()));
	for (const std::string& Name : Names)
	{
		Base.PropertyNames.Add(FName(UTF8_TO_TCHAR(Name.c_str())));
	}
	Client->PushSubjectStaticData_AnyThread(SubjectKey, ULiveLinkBasicRole::StaticClass(), MoveTemp(StaticData));
}

void FMEDTalkLiveLinkSource::OnFrame(const medtalk::Frame& Frame, double ArrivalSeconds)
{
	FLiveLinkFrameDataStruct FrameData(FLiveLinkBaseFrameData::StaticStruct());
	FLiveLinkBaseFrameData& Data = *FrameData.Cast<FLiveLinkBaseFrameData>();
	Data.WorldTime = FLiveLinkWorldTime(ArrivalSeconds);  // the receiver's clock is FPlatformTime::Seconds
	Data.MetaData.SceneTime = FQualifiedFrameTime(FFrameTime(FFrameNumber(Frame.index)), FFrameRate(medtalk::kFps, 1));
	Data.PropertyValues.Append(Frame.values, medtalk::kNumControls);
	Client->PushSubjectFrameData_AnyThread(SubjectKey, MoveTemp(FrameData));
}

void FMEDTalkLiveLinkSource::UpdateStatus()
{
	// A plain string: FText is made on the game thread, in GetSourceStatus.
	FString Text(UTF8_TO_TCHAR(Receiver.StatusText().c_str()));
	FScopeLock Lock(&StatusLock);
	StatusText = MoveTemp(Text);
}

#undef LOCTEXT_NAMESPACE
