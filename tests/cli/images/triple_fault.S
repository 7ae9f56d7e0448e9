/* Raises #UD at CPL 0 with an empty IDT: #UD -> #NP -> #DF -> shutdown. */
	.globl _start
	.text
_start:
	ud2
