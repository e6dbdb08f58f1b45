"""The Slack adapter: a slack-bolt app that carries the whole workflow in chat."""
