// The "MEDTalk Live" entry of the Live Link panel's "+ Source" menu, and the factory that recreates
// the source from a Live Link preset's connection string.

#pragma once

#include "CoreMinimal.h"
#include "LiveLinkSourceFactory.h"

#include "MEDTalkLiveLinkSourceFactory.generated.h"

UCLASS()
class MEDTALKLIVELINK_API UMEDTalkLiveLinkSourceFactory : public ULiveLinkSourceFactory
{
	GENERATED_BODY()

public:
	virtual FText GetSourceDisplayName() const override;
	virtual FText GetSourceTooltip() const override;
	virtual EMenuType GetMenuType() const override { return EMenuType::SubPanel; }
	virtual TSharedPtr<SWidget> BuildCreationPanel(FOnLiveLinkSourceCreated OnLiveLinkSourceCreated) const override;

	/**
	 * ConnectionString: "transport=osc;bind=127.0.0.1;port=9100;subject=MEDTalk" or
	 * "transport=zmq;endpoint=tcp://127.0.0.1:5570;subject=MEDTalk". Returns null (and logs why)
	 * for a malformed string or a transport this build does not have.
	 */
	virtual TSharedPtr<ILiveLinkSource> CreateSource(const FString& ConnectionString) const override;
};
