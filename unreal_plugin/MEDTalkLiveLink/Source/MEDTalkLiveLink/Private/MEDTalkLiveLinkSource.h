// The MEDTalk Live Link source: receives the bridge's stream (docs/protocol.md) on its own thread
// and publishes one Live Link subject with the Basic role: 174 properties named after the
// face-board controls, one frame per received /medtalk/frame.

#pragma once

#include "CoreMinimal.h"
#include "HAL/CriticalSection.h"
#include "HAL/Runnable.h"
#include "ILiveLinkSource.h"
#include "LiveLinkTypes.h"

#include "MEDTalkPacket.h"

#include <atomic>

class FRunnableThread;
class FSocket;
class ILiveLinkClient;
class UMEDTalkLiveLinkSourceSettings;

DECLARE_LOG_CATEGORY_EXTERN(LogMEDTalkLiveLink, Log, All);

class FMEDTalkLiveLinkSource : public ILiveLinkSource, public FRunnable
{
public:
	explicit FMEDTalkLiveLinkSource(const medtalk::ReceiverConfig& InConfig);
	virtual ~FMEDTalkLiveLinkSource() override;

	// ILiveLinkSource
	virtual void ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid) override;
	virtual void InitializeSettings(ULiveLinkSourceSettings* Settings) override;
	virtual bool IsSourceStillValid() const override;
	virtual bool RequestSourceShutdown() override;
	virtual FText GetSourceType() const override;
	virtual FText GetSourceMachineName() const override;
	virtual FText GetSourceStatus() const override;
	virtual TSubclassOf<ULiveLinkSourceSettings> GetSettingsClass() const override;
	virtual void OnSettingsChanged(ULiveLinkSourceSettings* Settings, const FPropertyChangedEvent& PropertyChangedEvent) override;

	// FRunnable: the receiver thread
	virtual uint32 Run() override;
	virtual void Stop() override;

private:
	FString Address() const;  // "udp://127.0.0.1:9100" or the ZeroMQ endpoint

	// All of these run on the receiver thread.
	bool OpenTransport();
	void CloseTransport();
	void ReceiveOsc();
	void ReceiveZmq();
	void HandleFrame(const medtalk::Frame& Frame);
	void HandleNames(const medtalk::Names& Names);
	void Reject(medtalk::Status Status);
	void PushStaticDataIfDue();
	void CheckSilence(double Now);
	void UpdateStatus(double Now);

	const medtalk::ReceiverConfig Config;
	ILiveLinkClient* Client = nullptr;
	FLiveLinkSubjectKey SubjectKey;

	medtalk::StreamTracker Tracker;  // receiver thread only
	TArray<uint8> Buffer;
	FSocket* Socket = nullptr;
#if WITH_MEDTALK_ZMQ
	void* ZmqContext = nullptr;
	void* ZmqSocket = nullptr;
#endif
	bool bTransportOpen = false;
	bool bStale = false;
	uint64 RejectedPackets = 0;
	uint64 OtherSubjectFrames = 0;
	uint32 LoggedStatuses = 0;  // bit per medtalk::Status already logged
	FString OtherSubject;
	FString TransportError;

	FRunnableThread* Thread = nullptr;
	std::atomic<bool> bStopping{false};
	std::atomic<double> StaleAfterSeconds{0.5};

	mutable FCriticalSection StatusLock;
	FString StatusText;  // written by the receiver thread
	std::atomic<bool> bValid{true};  // false while the socket cannot be opened
};
