// The creation panel of the "MEDTalk Live" source in the Live Link panel: bind address, port and
// subject (and the ZeroMQ endpoint when the plugin is built with ZeroMQ).

#pragma once

#include "CoreMinimal.h"
#include "Widgets/DeclarativeSyntaxSupport.h"
#include "Widgets/SCompoundWidget.h"

#include "MEDTalkConnection.h"

DECLARE_DELEGATE_TwoParams(FOnMEDTalkSourceConfigured, const medtalk::ReceiverConfig& /*Config*/, const FString& /*ConnectionString*/);

class SMEDTalkLiveLinkSourcePanel : public SCompoundWidget
{
public:
	SLATE_BEGIN_ARGS(SMEDTalkLiveLinkSourcePanel) {}
		/** Called with a validated configuration when the user presses Add. */
		SLATE_EVENT(FOnMEDTalkSourceConfigured, OnConfigured)
	SLATE_END_ARGS()

	void Construct(const FArguments& InArgs);

private:
	FReply OnAdd();

	FOnMEDTalkSourceConfigured OnConfigured;
	medtalk::ReceiverConfig Config;  // the fields' values
	FString BindText;
	FString EndpointText;
	FString SubjectText;
	FText ErrorText;
};
