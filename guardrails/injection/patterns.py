"""The injection rule table: regular expressions over folded text (see `normalize.fold`)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One named pattern; a strong rule flags on its own, a weak one only informs the model."""

    id: str
    family: str
    pattern: re.Pattern[str]
    strong: bool


# Rule families, in the order of the classifier's rule features (the shipped model records it).
FAMILIES = (
    "override",
    "new_instructions",
    "role_markup",
    "mode_switch",
    "prompt_leak",
    "secret_request",
    "hidden_markup",
    "encoded_payload",
    "invisible_unicode",
    "ai_addressed",
    "output_hijack",
    "code_hijack",
    "exfiltration",
)

_EN_VERB = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|overlook|bypass|override|neglect|discard"
    r"|abandon|skip|drop|do not follow|don'?t follow|stop following|regardless of)"
)
# "my/our" is left out on purpose: "ignore my previous instructions about delivery" is a customer.
_EN_FILLER = r"(?:the|of|and|other|given|these|those)"
_EN_SCOPE = (
    r"(?:all|any|every|your|previous|prior|preceding|above|earlier|former|initial|original"
    r"|system|developer|safety|existing|prior)"
)
_EN_QUAL = r"(?:the|of|and|other|given|previous|prior|above|earlier|initial|original|system)"
_EN_NOUN = (
    r"(?:instructions?|directives?|(?:system )?prompts?|guidelines|programming|guardrails|tasks)"
)
_EN_SOFT_NOUN = r"(?:rules|restrictions|constraints|policies|filters|limitations)"
_SEEN = r"(?:told|instructed|programmed|taught|given|asked)"

_OVERRIDE_ML = (
    # French, Spanish, Portuguese, Italian, German, Dutch, Scandinavian, Polish, Indonesian
    r"\b(?:ignore[rz]?|oublie[rz]?|ne tiens pas compte|ne tenez pas compte)\b.{0,30}?"
    r"\b(?:instructions?|consignes?|directives?|regles)\b",
    r"\b(?:ignora[rd]?|ignore|ignoren|olvida[rd]?|olvide|omite|descarta|haz caso omiso)\b.{0,30}?"
    r"\b(?:instrucciones|indicaciones|directrices|reglas|ordenes)\b",
    r"\b(?:ignore|ignora|ignorar|ignorem|esqueca|esquece|desconsidere|descarte)\b.{0,30}?"
    r"\b(?:instrucoes|instrucao|diretrizes|regras|ordens)\b",
    r"\b(?:ignora|ignorare|ignori|dimentica|dimentichi|trascura)\b.{0,30}?"
    r"\b(?:istruzioni|direttive|regole)\b",
    r"\b(?:ignorier\w*|vergiss|vergessen sie|missachte\w*)\b.{0,40}?"
    r"\b(?:anweisung\w*|instruktion\w*|befehl\w*|regeln|vorgaben|richtlinien)\b",
    r"\b(?:negeer|vergeet)\b.{0,30}?\b(?:instructies|aanwijzingen|regels)\b",
    r"\b(?:ignorera|ignorer|glom|glem)\b.{0,30}?\b(?:instruktioner|instrukser|instruktionerne)\b",
    r"\b(?:zignoruj|ignoruj|zapomnij)\b.{0,30}?\b(?:instrukcj\w*|polecen\w*|wytyczn\w*)\b",
    r"\b(?:abaikan|lupakan)\b.{0,30}?\b(?:instruksi|perintah|petunjuk)\b",
    r"\b(?:onceki|yukaridaki)\b.{0,20}?\b(?:talimat\w*|komut\w*)\b.{0,20}?"
    r"\b(?:yok say|gormezden gel|unut|dikkate alma)",
    r"\b(?:bo qua|quen)\b.{0,20}?\b(?:huong dan|chi dan|chi thi)\b",
    # Russian (folded: й -> и), Greek, Arabic, Hindi
    r"(?:игнорируи\w*|забудь\w*|не обращаи\w* внимания)[^.\n]{0,30}?(?:инструкци|указани|правил)",
    r"(?:αγνοησε|αγνοηστε|ξεχασε|ξεχαστε)[^.\n]{0,30}?(?:οδηγιες|εντολες)",
    r"(?:تجاهل|انس|أهمل|اهمل)[^.\n]{0,30}?(?:التعليمات|الأوامر|الاوامر|التوجيهات)",
    r"(?:पिछले|पूर्व|ऊपर|सभी)[^।\n]{0,20}?(?:निर्देश|आदेश)[^।\n]{0,25}?"
    r"(?:अनदेखी|अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल)",
    # Chinese, Japanese, Korean
    r"(?:忽略|无视|忽视|不要理会|忘记|忘掉|無視|忽略掉)[^。\n]{0,12}?(?:指令|指示|提示词|规则|命令|說明|说明)",
    r"(?:以前|前|上記|これまで|先|上)の(?:指示|命令|指令|ルール|プロンプト)[をは]?(?:すべて|全て)?"
    r"(?:無視|忘れ)",
    r"(?:이전|위의|앞의|모든)\s?(?:지시|명령|지침|규칙)\w{0,2}\s?(?:무시|잊어)",
)

_RAW: tuple[tuple[str, str, str, bool], ...] = (
    # id, family, pattern, strong
    ("override_instructions", "override",
     rf"\b{_EN_VERB}\b(?:\s+{_EN_FILLER}\b){{0,2}}\s+{_EN_SCOPE}\b(?:\s+{_EN_QUAL}\b){{0,3}}"
     rf"\s+{_EN_NOUN}\b", True),
    ("override_rules", "override",
     rf"\b{_EN_VERB}\b(?:\s+{_EN_FILLER}\b){{0,2}}(?:\s+{_EN_SCOPE}\b)(?:\s+{_EN_QUAL}\b){{0,3}}"
     rf"(?:\s+(?:safety|content|ethical|moral))?\s+{_EN_SOFT_NOUN}\b", False),
    ("override_told_before", "override",
     rf"\b{_EN_VERB}\b\s+(?:everything|all|anything|what|whatever|all that)\s+"
     rf"(?:you(?:'ve| have)?|you were)\s+(?:been\s+|were\s+)?{_SEEN}", True),
    ("override_above", "override",
     r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:the\s+)?(?:above|previous|"
     r"prior|preceding)\b(?!\s+(?:message|email|ticket|mail|order|request|reply|note|comment))",
     False),
    ("override_multilingual", "override", "|".join(f"(?:{p})" for p in _OVERRIDE_ML), True),
    ("instead_now", "override", r"\b(?:actually|instead)\b[^.?!\n]{0,60}\binstead\b|"
     r"\bforget about (?:that|this|it)\b", False),
    ("new_instructions", "new_instructions",
     r"\b(?:new|updated|real|actual|true|additional|secret|hidden)\s+(?:system\s+)?"
     r"(?:instructions?|directives?|task|orders)\s*(?::|are\b|follow\b|is\b)", True),
    ("from_now_on", "new_instructions",
     r"\bfrom now on,?\s+(?:you|your|respond|answer|reply|act|always|only|ignore)\b", False),
    ("you_are_now", "new_instructions",
     r"\byou are (?:now|no longer)\s+(?:a|an|in|my|dan|free|unrestricted|jailbroken|"
     r"unfiltered|not bound|allowed)\b", False),
    ("chat_template", "role_markup",
     r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|"
     r"end_header_id|begin_of_text)\|>|\[/?inst\]|<</?sys>>|<\s*/?\s*system\s*>|"
     r"<start_of_turn>|\[system\](?!\s*\()", True),
    ("role_header", "role_markup",
     r"(?m)^\s*(?:#{2,}\s*|\[|<)?\s*(?:system|assistant|developer)\s*(?:message|prompt)?"
     r"\s*(?:\]|>)?\s*:\s*\S", False),
    ("fake_boundary", "role_markup",
     r"\b(?:end of (?:user )?(?:input|context|document|prompt|conversation|instructions)|"
     r"begin(?:ning of)? (?:new |system )?(?:instructions|prompt))\b|#{2,}\s*(?:system|"
     r"assistant|new instructions?)\b|\b(?:rules|instructions|guidelines|polic(?:y|ies))\s+"
     r"(?:no longer apply|are void|are cancell?ed|have changed)\b", False),
    ("mode_override", "mode_switch",
     r"\b(?:security override|system override|override mode|jailbreak mode|jailbroken|"
     r"dan mode|god mode|do anything now|sudo mode|unrestricted mode|maintenance override)\b",
     True),
    ("mode_enter", "mode_switch",
     r"\b(?:enter|entering|initiating|initiate|activate|activating|enable|switch to|now in)\b"
     r"[^.\n]{0,20}\b(?:mode|system reset)\b", False),
    ("vendor_identity", "mode_switch",
     r"\bas an ai (?:developed|created|made|trained) by\b|\bi am (?:your|the) "
     r"(?:developer|creator|maintainer)\b|\bi am god\b", False),
    ("prompt_leak", "prompt_leak",
     r"\b(?:reveal|print|show|repeat|output|display|tell me|give me|what is|what's|what are|"
     r"disclose|share|leak|spell out|write out)\b[^.?!\n]{0,30}\b(?:your|the)\s+"
     r"(?:system prompt|initial prompt|hidden (?:prompt|instructions)|(?:original|initial|"
     r"secret|hidden) instructions|instructions above|prompt above|(?:full |whole )?prompt)\b"
     r"|\b(?:contents?|text|wording) of (?:your|the system'?s?) (?:instructions|prompt)\b",
     True),
    ("secret_request", "secret_request",
     r"\b(?:what is|what's|tell me|give me|reveal|print|provide|confirm|disclose|spell)\s+"
     r"(?:me\s+)?(?:the|your)\s+(?:admin\s+|system\s+|secret\s+)?(?:password|secret key|"
     r"api key|access token|credentials|secret|passcode)\b(?!\s+(?:policy|policies|rules|"
     r"requirements|reset|manager|field|strength|settings))|\b(?:the|your) secret "
     r"(?:key|password|code)\b", False),
    ("third_party_data", "secret_request",
     r"\b(?:other|another|all (?:the )?other|every other)\s+(?:users?|customers?|clients?)"
     r"(?:'s?)?\b|\b(?:users?|customers?) in (?:your|the) database\b|\b(?:print"
     r"|dump|show|give me|list) (?:me )?(?:your|the|all) (?:customer |user )?database\b|"
     r"\bthe user'?s\b", False),
    ("constraint_reference", "override",
     r"\b(?:i know|even though|although|despite|i realize) (?:that )?you (?:said|were told|"
     r"are not allowed|can'?t|cannot|aren'?t allowed|were instructed)\b|\byou (?:said|were "
     r"told|were instructed) not to\b", False),
    ("html_comment", "hidden_markup", r"<!--", False),
    ("css_hidden", "hidden_markup",
     r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0\b|"
     r"color\s*:\s*(?:white|#fff\b|#ffffff)", False),
    ("decode_request", "encoded_payload",
     r"\b(?:decode|decipher|decrypt|translate|convert)\b[^.?!\n]{0,40}\b(?:base64|base32|"
     r"rot13|morse|caesar|cipher|hex|binary|pig latin)\b", False),
    ("morse_run", "encoded_payload", r"(?:[.\-]{1,6} ){6,}", False),
    ("pig_latin", "encoded_payload", r"(?:\b[a-z]+ay\b[\s,?!.]+){4,}", False),
    ("ai_addressed", "ai_addressed",
     r"\bif you are (?:an?|the) (?:ai|llm|language model|assistant|chatbot|bot|gpt)"
     r"(?: model| assistant)?,? (?:reading|processing|summari[sz]ing|that (?:reads|processes))\b|"
     r"\b(?:ai|llm|language model|chatbot|gpt)s?\b[^.\n]{0,20}\b(?:reading|processing|"
     r"summari[sz]ing) this\b|\b(?:note|message|instruction)s? (?:to|for) (?:the |any )?"
     r"(?:ai|llm|language model|chatbot|model)\b", True),
    ("assistant_addressed", "ai_addressed",
     r"\b(?:note|message|instruction)s? (?:to|for) (?:the |any )?assistant\b|\bif you are "
     r"(?:an?|the) (?:ai|llm|language model|assistant|chatbot|bot|gpt)\b", False),
    ("when_you_read", "ai_addressed",
     r"\bwhen (?:you|the (?:ai|assistant|model))\s+(?:read|reads|see|sees|process|summari[sz]e"
     r"|answer|respond)\b", False),
    ("output_hijack", "output_hijack",
     r"\b(?:in|into|to|within|throughout)\s+your\s+(?:response|answer|reply|output|summary)\b"
     r"|\b(?:modify|enhance|render|provide|write|encode|encrypt|reverse|format)\s+your\s+"
     r"(?:response|answer|reply|output)\b|\byour (?:response|answer|reply)(?:'s)? "
     r"(?:in|using|backward|character)", False),
    ("reverse_order", "output_hijack",
     r"\bin reverse (?:order|sequence)\b|\b(?:write|spell|answer|reply|respond)\w* "
     r"(?:it |your \w+ )?backwards?\b", False),
    ("reply_language", "output_hijack",
     r"\b(?:reply|respond|answer|write)\s+(?:only\s+)?in\s+(?:german|french|spanish|"
     r"portuguese|italian|chinese|japanese|russian|pig latin|reverse|base64|morse)\b", False),
    ("code_hijack", "code_hijack",
     r"\b(?:include|insert|add|append|integrate|embed|merge|incorporate|weave|woven)\b[^.\n]{0,60}"
     r"\b(?:code|snippet|excerpt|block|section)\b[^.\n]{0,60}\b(?:your|the)\s+(?:code|codebase|"
     r"implementation|solution|algorithm|program|response|project)", False),
    ("exfil_markdown", "exfiltration",
     r"!\[[^\]\n]{0,100}\]\(\s*https?://[^)\s]{1,200}[?&][^)\s]{0,200}=", True),
    ("exfil_send", "exfiltration",
     r"\b(?:send|forward|post|upload|email|leak|exfiltrate)\b[^.\n]{0,50}\b(?:to|at)\s+"
     r"(?:https?://|www\.|[\w.+-]+@[\w-]+\.)", False),
    ("click_link", "exfiltration",
     r"\b(?:click|visit|follow)\b[^.\n]{0,30}\b(?:link|url|here)\b[^.\n]{0,30}\b(?:reset|verify|"
     r"confirm|claim|unlock)\b|\baccount has been compromised\b", False),
)  # fmt: skip

RULES: tuple[Rule, ...] = tuple(
    Rule(rule_id, family, re.compile(pattern), strong) for rule_id, family, pattern, strong in _RAW
)
