# A minimal pure-Perl stand-in for CPAN's Socket::Netlink, which Debian does
# not package and which the machines that run make regress cannot download.
# It provides only what audit-testsuite's amcast_joinpart test imports: the
# AF_NETLINK/PF_NETLINK constants and pack_sockaddr_nl(). scripts/guest/regress
# puts this directory on PERL5LIB only when the host has no Socket::Netlink.
package Socket::Netlink;

use strict;
use warnings;
use Exporter 'import';

use constant AF_NETLINK => 16;
use constant PF_NETLINK => 16;

our @EXPORT    = qw(AF_NETLINK PF_NETLINK);
our @EXPORT_OK = qw(pack_sockaddr_nl unpack_sockaddr_nl);

# struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad;
#                      __u32 nl_pid; __u32 nl_groups; }
sub pack_sockaddr_nl {
	my ($pid, $groups) = @_;
	return pack('S S L L', AF_NETLINK, 0, $pid, $groups);
}

sub unpack_sockaddr_nl {
	my ($family, undef, $pid, $groups) = unpack('S S L L', $_[0]);
	die "not a sockaddr_nl\n" unless $family == AF_NETLINK;
	return ($pid, $groups);
}

1;
