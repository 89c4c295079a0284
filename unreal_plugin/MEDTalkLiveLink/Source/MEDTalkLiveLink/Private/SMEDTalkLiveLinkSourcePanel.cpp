// The creation panel of the "MEDTalk Live" Live Link source (see SMEDTalkLiveLinkSourcePanel.h).

#include "SMEDTalkLiveLinkSourcePanel.h"

#include "Widgets/Input/SButton.h"
#include "Widgets/Input/SCheckBox.h"
#include "Widgets/Input/SEditableTextBox.h"
#include "Widgets/Input/SSpinBox.h"
#include "Widgets/Layout/SBox.h"
#include "Widgets/SBoxPanel.h"
#include "Widgets/Text/STextBlock.h"

#define LOCTEXT_NAMESPACE "MEDTalkLiveLink"

namespace MEDTalkLiveLinkPanel
{
TSharedRef<SWidget> Row(const FText& Label, const TSharedRef<SWidget>& Field)
{
	return SNew(SHorizontalBox)
		+ SHorizontalBox::Slot().FillWidth(0.4f).VAlign(VAlign_Center).Padding(0, 0, 8, 0)
		[
			SNew(STextBlock).Text(Label)
		]
		+ SHorizontalBox::Slot().FillWidth(0.6f)
		[
			Field
		];
}
}

void SMEDTalkLiveLinkSourcePanel::Construct(const FArguments& InArgs)
{
	using MEDTalkLiveLinkPanel::Row;
	OnConfigured = InArgs._OnConfigured;
	BindText = UTF8_TO_TCHAR(Config.bind.c_str());
	EndpointText = UTF8_TO_TCHAR(Config.endpoint.c_str());
	SubjectText = UTF8_TO_TCHAR(Config.subject.c_str());

	TSharedRef<SVerticalBox> Fields = SNew(SVerticalBox);
#if WITH_MEDTALK_ZMQ
	Fields->AddSlot().AutoHeight().Padding(2)
	[
		Row(LOCTEXT("UseZmq", "ZeroMQ instead of OSC"),
			SNew(SCheckBox)
			.IsChecked_Lambda([this] { return Config.transport == medtalk::ReceiverConfig::Transport::Zmq ? ECheckBoxState::Checked : ECheckBoxState::Unchecked; })
			.OnCheckStateChanged_Lambda([this](ECheckBoxState State) {
				Config.transport = State == ECheckBoxState::Checked ? medtalk::ReceiverConfig::Transport::Zmq : medtalk::ReceiverConfig::Transport::Osc;
			}))
	];
	Fields->AddSlot().AutoHeight().Padding(2)
	[
		Row(LOCTEXT("Endpoint", "ZeroMQ endpoint"),
			SNew(SEditableTextBox)
			.Text_Lambda([this] { return FText::FromString(EndpointText); })
			.OnTextChanged_Lambda([this](const FText& Text) { EndpointText = Text.ToString(); })
			.IsEnabled_Lambda([this] { return Config.transport == medtalk::ReceiverConfig::Transport::Zmq; }))
	];
#endif
	Fields->AddSlot().AutoHeight().Padding(2)
	[
		Row(LOCTEXT("Bind", "Bind address"),
			SNew(SEditableTextBox)
			.Text_Lambda([this] { return FText::FromString(BindText); })
			.OnTextChanged_Lambda([this](const FText& Text) { BindText = Text.ToString(); })
			.ToolTipText(LOCTEXT("BindTip", "IPv4 address of this machine to listen on: 127.0.0.1 (the bridge runs here) or 0.0.0.0 (any network)"))
			.IsEnabled_Lambda([this] { return Config.transport == medtalk::ReceiverConfig::Transport::Osc; }))
	];
	Fields->AddSlot().AutoHeight().Padding(2)
	[
		Row(LOCTEXT("Port", "UDP port"),
			SNew(SSpinBox<int32>)
			.MinValue(1).MaxValue(65535).Delta(1)
			.Value_Lambda([this] { return Config.port; })
			.OnValueChanged_Lambda([this](int32 Value) { Config.port = Value; })
			.IsEnabled_Lambda([this] { return Config.transport == medtalk::ReceiverConfig::Transport::Osc; }))
	];
	Fields->AddSlot().AutoHeight().Padding(2)
	[
		Row(LOCTEXT("Subject", "Subject name"),
			SNew(SEditableTextBox)
			.Text_Lambda([this] { return FText::FromString(SubjectText); })
			.OnTextChanged_Lambda([this](const FText& Text) { SubjectText = Text.ToString(); })
			.ToolTipText(LOCTEXT("SubjectTip", "The bridge's --subject (default MEDTalk); frames for other subjects are ignored")))
	];
	Fields->AddSlot().AutoHeight().Padding(2)
	[
		SNew(STextBlock)
		.Text_Lambda([this] { return ErrorText; })
		.ColorAndOpacity(FLinearColor(1.f, 0.3f, 0.3f))
		.AutoWrapText(true)
	];
	Fields->AddSlot().AutoHeight().HAlign(HAlign_Right).Padding(2)
	[
		SNew(SButton)
		.Text(LOCTEXT("Add", "Add"))
		.OnClicked(this, &SMEDTalkLiveLinkSourcePanel::OnAdd)
	];

	ChildSlot
	[
		SNew(SBox).MinDesiredWidth(320.f)
		[
			Fields
		]
	];
}

FReply SMEDTalkLiveLinkSourcePanel::OnAdd()
{
	medtalk::ReceiverConfig Candidate = Config;
	Candidate.bind = TCHAR_TO_UTF8(*BindText.TrimStartAndEnd());
	Candidate.endpoint = TCHAR_TO_UTF8(*EndpointText.TrimStartAndEnd());
	Candidate.subject = TCHAR_TO_UTF8(*SubjectText.TrimStartAndEnd());
	// Validate through the connection string that Live Link presets will store.
	const std::string ConnectionString = medtalk::ToConnectionString(Candidate);
	medtalk::ReceiverConfig Parsed;
	std::string Error;
	if (Candidate.subject.find(';') != std::string::npos)
	{
		Error = "subject must not contain ';'";
	}
	else if (medtalk::ParseConnectionString(ConnectionString, Parsed, Error))
	{
		ErrorText = FText::GetEmpty();
		OnConfigured.ExecuteIfBound(Parsed, FString(UTF8_TO_TCHAR(ConnectionString.c_str())));
		return FReply::Handled();
	}
	ErrorText = FText::FromString(UTF8_TO_TCHAR(Error.c_str()));
	return FReply::Handled();
}

#undef LOCTEXT_NAMESPACE
