// PromptExtractionTests.swift — PromptExtraction against what TRL 1.16.0's `maybe_extract_prompt` returned for the
// same inputs (run once with the reference venv; outputs pasted below next to each case).

import ChatTemplates
import Testing
@testable import Data

@Suite struct PromptExtractionTests {
  @Test func sharedPrefixEndingMidConversation() {
    // TRL: prompt = system, user, assistant, user; chosen = ["4"]; rejected = ["5"]
    let history = [system("Be brief."), user("Hi"), assistant("Hello!"), user("2+2?")]
    let split = PromptExtraction.split(chosen: history + [assistant("4")], rejected: history + [assistant("5")])
    #expect(split.prompt == history)
    #expect(split.chosen == [assistant("4")])
    #expect(split.rejected == [assistant("5")])
  }

  @Test func divergenceAfterAnIdenticalFirstAssistantTurn() {
    // TRL: prompt = [user Hi, assistant Hello!]; completions start with the differing user turns.
    let split = PromptExtraction.split(
      chosen: [user("Hi"), assistant("Hello!"), user("Tell a joke"), assistant("A")],
      rejected: [user("Hi"), assistant("Hello!"), user("Tell a story"), assistant("B")])
    #expect(split.prompt == [user("Hi"), assistant("Hello!")])
    #expect(split.chosen == [user("Tell a joke"), assistant("A")])
    #expect(split.rejected == [user("Tell a story"), assistant("B")])
  }

  @Test func oneSideIsAPrefixOfTheOther() {
    // TRL: no difference within the shorter list, so idx = its last index:
    // prompt = [user Hi], chosen = [Hello!], rejected = [Hello!, More, Sure].
    let split = PromptExtraction.split(chosen: [user("Hi"), assistant("Hello!")],
                                       rejected: [user("Hi"), assistant("Hello!"), user("More"), assistant("Sure")])
    #expect(split.prompt == [user("Hi")])
    #expect(split.chosen == [assistant("Hello!")])
    #expect(split.rejected == [assistant("Hello!"), user("More"), assistant("Sure")])
  }

  @Test func identicalConversations() {
    // TRL: prompt = [user Hi]; both completions = [Hello!].
    let conversation = [user("Hi"), assistant("Hello!")]
    let split = PromptExtraction.split(chosen: conversation, rejected: conversation)
    #expect(split.prompt == [user("Hi")])
    #expect(split.chosen == [assistant("Hello!")])
    #expect(split.rejected == [assistant("Hello!")])
  }

  @Test func textMovesTheSpaceIntoTheCompletions() {
    // TRL: {"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}
    let split = PromptExtraction.split(chosen: "The sky is blue.", rejected: "The sky is green.")
    #expect(split.prompt == "The sky is" && split.chosen == " blue." && split.rejected == " green.")
  }

  @Test func textWithoutSpaceCutsMidWord() {
    // TRL: {"prompt": "Answer:1", "chosen": "2", "rejected": "3"}
    let split = PromptExtraction.split(chosen: "Answer:12", rejected: "Answer:13")
    #expect(split.prompt == "Answer:1" && split.chosen == "2" && split.rejected == "3")
  }

  @Test func textPrefixAndUnicode() {
    // TRL: {"prompt": "ab", "chosen": "c", "rejected": "cd"}
    let prefix = PromptExtraction.split(chosen: "abc", rejected: "abcd")
    #expect(prefix.prompt == "ab" && prefix.chosen == "c" && prefix.rejected == "cd")
    // TRL: {"prompt": "Café ☕ is", "chosen": " hot", "rejected": " cold"} (code points, "é" precomposed)
    let unicode = PromptExtraction.split(chosen: "Caf\u{E9} ☕ is hot", rejected: "Caf\u{E9} ☕ is cold")
    #expect(unicode.prompt == "Caf\u{E9} ☕ is" && unicode.chosen == " hot" && unicode.rejected == " cold")
    // Code points, not characters: a combining accent that differs splits after the base letter.
    let combining = PromptExtraction.split(chosen: "e\u{301}!", rejected: "e\u{300}!")
    #expect(combining.prompt.unicodeScalars.map(\.value) == [0x65])
  }

  @Test func textDifferingAtTheFirstCharacterHasNoPrompt() {
    // TRL returns {"prompt": "yes", "chosen": " ", "rejected": " "} here (it reads chosen[-1]); we deliberately
    // return no prompt instead.
    let split = PromptExtraction.split(chosen: "yes ", rejected: "no ")
    #expect(split.prompt == "" && split.chosen == "yes " && split.rejected == "no ")
  }
}
